"""Research code, off the product path: the TinySaver cascade and its savers, the Skip RNN context model, the speed
harness of `emotrace bench`, the FER2013 loader and the multimodal composite built from it, the clip-classifier
training loop, and the speech cross-corpus pieces (augmentation, shrunk speaker normalisation, OOD scores). benchmarks/ and `emotrace bench` use it; `analyze`, `serve`, `train`, `extract` and `export` do not."""
