/* default_model — the built-in model's bytes, placed by the assembler's .incbin. */
#include "formats/tabserve.h"
#include "formats/default_model.h"

#include <string.h>

#include "base/err.h"

#ifdef DEFAULT_MODEL_FILE
/* .incbin keeps the JSON out of C string-literal limits and works on any ELF target */
__asm__(".section .rodata\n"
        ".global tabserve_default_model\n"
        "tabserve_default_model:\n"
        ".incbin \"" DEFAULT_MODEL_FILE "\"\n"
        ".global tabserve_default_model_end\n"
        "tabserve_default_model_end:\n"
        ".byte 0\n"
        ".previous\n");
extern const char tabserve_default_model[], tabserve_default_model_end[];
#endif

model *model_load_default(char *err)
{
#ifdef DEFAULT_MODEL_FILE
    return model_load_buffer(tabserve_default_model,
                             (size_t)(tabserve_default_model_end - tabserve_default_model),
                             DEFAULT_MODEL_NAME, err);
#else
    err_set(err, "no model given and this binary was built without a default model "
                 "(models/titanic.json was missing at build time)");
    return NULL;
#endif
}
