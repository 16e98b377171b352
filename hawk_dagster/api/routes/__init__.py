"""The API's routes, one module per concern; every route but health, readiness and the docs declares a permission."""
