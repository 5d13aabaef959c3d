"""Risk screening: which declaration lines and postal parcels an inspector should look at.

Pure rules only; the data they read and the candidates they produce are stored elsewhere.
"""
