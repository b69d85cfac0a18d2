"""The demo enterprises, people and data that `make run` seeds (`seed_demo`): the top of the
layers, since it uses every feature's services."""
