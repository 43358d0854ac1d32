// sparq: a CPU inference engine for sparse and INT8-quantized BERT-family encoders.
#pragma once

#include "sparq/config.h"
#include "sparq/error.h"
#include "sparq/evaluation.h"
#include "sparq/model.h"
#include "sparq/pipelines.h"
#include "sparq/quantization.h"
#include "sparq/runtime.h"
#include "sparq/synth.h"
#include "sparq/tokenizer.h"
