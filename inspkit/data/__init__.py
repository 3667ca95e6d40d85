"""The data stage: collect, label, crop and augment images in a workspace."""
