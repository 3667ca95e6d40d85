"""inspkit: deep-learning product inspection for factory lines.

The three stages of the method (train, apply, manage) as a library with a thin
CLI, and a line simulator that runs the whole method on one machine.
"""

__version__ = "0.1.0"
