"""ONNX export and int8 quantisation (SmoothQuant) of the MiniLM encoder and of text bundles (`emotrace export`), and
the one ONNX Runtime that runs the exports without torch (runtime.py)."""
