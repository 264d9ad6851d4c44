/* mien-core.h — everything of libmien that front ends use. */
#pragma once

#include "mien-torch.h"
#include "mien-safetensors.h"
#include "mien-var-store.h"
#include "mien-backbone.h"
#include "mien-plugin-engine.h"
#include "mien-nn.h"

G_BEGIN_DECLS

/* Call once at start-up (idempotent): initialises libtorch's threads and gettext's domain. */
void mien_init (void);

G_END_DECLS
