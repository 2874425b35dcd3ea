"""The dashboard's routers, one module per page (each with its ``/api/`` JSON routes)."""
