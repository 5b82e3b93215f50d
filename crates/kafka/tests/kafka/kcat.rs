//! An independent client (kcat, librdkafka's CLI) reads a published topic.
