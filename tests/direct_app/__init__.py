"""A small app for the direct-upload tests: a model, a ModelForm page, a request log."""
