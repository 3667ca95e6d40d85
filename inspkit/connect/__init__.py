"""The applying stage: goal routing, the PLC link and the MES sink (paper 3.2.1).

These modules are small and import nothing heavy, so the simulator uses the
very same routing, register map and MES schema that ``inspkit connect`` uses.
"""
