"""Research code, off the product path: the TinySaver cascade and its savers, the Skip RNN context model, the speed
harness of `emotrace bench`, the FER2013 loader and the multimodal composite built from it, and the clip-classifier
training loop. benchmarks/ and `emotrace bench` use it; `analyze`, `serve`, `train`, `extract` and `export` do not."""
