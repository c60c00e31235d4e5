"""A local identity provider for development and the browser tests: a real OpenID Provider (oidc-provider-mock)
playing the part of a customer's Okta org, with an Okta-like dashboard that has an "Inigo" tile.

Never for production: anyone who can reach it signs in as anyone, without a password. It listens on 127.0.0.1.
"""
