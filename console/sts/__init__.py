"""STS: who a caller is (GetCallerIdentity) and the temporary credentials of role sessions."""
