"""Tests of the PORTOS simulator over real sockets."""
