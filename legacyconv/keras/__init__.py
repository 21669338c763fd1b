"""Keras layers (the Keras shipped with TensorFlow) built from Theano weights. Needs TensorFlow."""
