"""The orders service: customer and staff order API, read model, deposit-event bridge."""
