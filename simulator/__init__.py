"""A PORTOS server simulator: REST, JWT auth, license, health and the SignalR hub."""
