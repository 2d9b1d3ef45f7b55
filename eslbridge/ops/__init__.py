"""What operators run beside the engine and the API: metrics, health, JSON logs."""
