"""The customer console (/org/, SPEC "The customer console"): the owner and admins of a tenant run their
organisation's sign-in themselves. Above accounts and scim in the layers (tests/test_layers.py): its views ask
accounts.policy, call services of the layers below, and render templates/console/."""
