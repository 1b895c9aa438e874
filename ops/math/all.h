// Every formula header: what the op table's Math column can name.
#pragma once

#include "ops/math/gelu.h"
#include "ops/math/glu.h"
#include "ops/math/mish.h"
#include "ops/math/relu.h"
#include "ops/math/relu2.h"
#include "ops/math/snake.h"
#include "ops/math/swish.h"
#include "ops/math/trelu.h"
