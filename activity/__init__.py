"""What happened in a tenant, read for two audiences: support staff's admin (support/) and the customer's own
console (console/). Both show the same figures and events, so both read them here: one implementation, never two
that drift. Reads only; above accounts, scim, tenants and okta, below the two pages that show them."""
