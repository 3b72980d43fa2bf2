"""IAM's console pages (IAM > Roles)."""
