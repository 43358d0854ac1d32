// sparq: a CPU inference engine for sparse and INT8-quantized BERT-family encoders.
#pragma once

#include "sparq/config.h"
#include "sparq/error.h"
#include "sparq/model.h"
#include "sparq/runtime.h"
