"""The API's route handlers, one module per concern: health and metrics, the read routes, the
operator controls and the update stream."""
