"""Line simulator: synthetic products with ground truth, and the line around them.

The simulator stands in for a plant's confidential inspection data and
equipment. It may import ``inspkit``'s small interfaces (``inspkit.types``),
never the other way round except inside the CLI commands that run it.
"""
