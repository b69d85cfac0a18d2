"""Biometrics (ENT-6): devices and their keys, enrolled templates, the devices' change feed."""
