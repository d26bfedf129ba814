"""A PORTOS server simulator: REST, JWT auth, licence, health and the SignalR hub."""
