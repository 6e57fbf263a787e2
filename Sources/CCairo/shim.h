#ifndef RECOVERY_CCAIRO_SHIM_H
#define RECOVERY_CCAIRO_SHIM_H
#include <cairo.h>
#include <cairo-pdf.h>
#endif
