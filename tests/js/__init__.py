"""The @microsoft/signalr conformance test of the simulator."""
