"""The workspace: a sample database, content-addressed images, a storage guard."""
