"""The managing stage (paper 3.3): unreliable samples, failed samples, FSR."""
