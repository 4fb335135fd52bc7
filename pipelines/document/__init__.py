"""A document through the stages: discover, extract (parse in a bounded worker), chunk, assess; the outcome record."""
