"""Tests of the PORTOS integration, its client and the simulator."""
