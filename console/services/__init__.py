"""Business rules as plain functions, shared by the console's views, the API and triggers."""
