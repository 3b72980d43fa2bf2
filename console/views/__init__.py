"""The console's HTML pages, one module per area of the function page."""
