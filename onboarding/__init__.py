"""The customer's one-time setup page (/setup/<token>/): it brings together the tenant's values (tenants), the
connection check (okta), the record of each attempt (accounts) and the offer to turn on provisioning (scim), so it
sits above all of them."""
