"""IAM, the subset Lambda users touch: roles, their trust and permission policies, managed policies."""
