"""Models: registry, training engine, model store and inferencer.

The inferencer (``inferencer.py``) never imports training code, so the edge
service and the simulator stay light.
"""
