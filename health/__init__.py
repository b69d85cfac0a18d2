"""Daily health reports (ENT-5): members' reports, encrypted details, the administrators' summary."""
