"""dockstep: a container-native CI step executor."""
