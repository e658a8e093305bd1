def add(a, b):
    """Return the sum of a and b."""
    return 


print(add(2, 3))
