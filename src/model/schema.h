/* schema — a model's inputs: names, value types, the missing-value rule, and for
 * categorical inputs a vocabulary and an unknown-category rule. Requests, CSV
 * rows and JSON lines are validated against it, whatever the model's origin.
 *
 * Validation turns one raw value into the input's *value*, a double:
 *   number, integer, boolean  the number (booleans 0 or 1)
 *   categorical               the vocabulary index; -1 for an unknown category
 *                             that the rule lets through as "zeros"
 *   missing                   NaN (absent, null, an empty CSV cell), unless required
 * The feature steps (features.h) turn values into the estimator's columns. */
#ifndef TABSERVE_SCHEMA_H
#define TABSERVE_SCHEMA_H

#include <stddef.h>

#include "model/hash.h"
#include "model/reader.h"

struct json_t;

#define SCHEMA_MAX_INPUTS 4096
#define SCHEMA_MAX_VOCAB  4096

typedef enum { TYPE_NUMBER, TYPE_INTEGER, TYPE_STRING, TYPE_BOOLEAN } value_type;
typedef enum {
    UNKNOWN_REJECT,  /* an error listing the accepted values */
    UNKNOWN_ZEROS,   /* value -1: all zeros in a one-hot encoding */
    UNKNOWN_MISSING, /* value NaN, as if missing */
} unknown_rule;

typedef struct {
    char *name;
    size_t name_len; /* derived by schema_index, as vocab_len: lookups compare lengths first */
    value_type type;
    int required;         /* a missing value is an error */
    size_t n_vocab;       /* 0: not categorical (a number, or raw category codes) */
    char **vocab;         /* (n_vocab,) the categories as text; integers in decimal */
    long long *vocab_int; /* (n_vocab,) TYPE_INTEGER vocabularies only */
    size_t *vocab_len;    /* (n_vocab,) strlen of each category's text */
    unknown_rule unknown;
} schema_input;

typedef struct {
    size_t n_inputs;
    schema_input *inputs;
} schema;

/* One raw value, whichever parser produced it (jansson, the fast scanner, CSV). */
typedef struct {
    enum { RAW_MISSING, RAW_NUMBER, RAW_STRING, RAW_BOOL, RAW_OTHER } kind;
    double number;   /* RAW_NUMBER, RAW_BOOL */
    const char *str; /* RAW_STRING: len bytes, not NUL-terminated */
    size_t len;
    const char *type_name; /* "an object", "an array", ... for messages (RAW_OTHER) */
} raw_value;

/* Validates v for input `in` into *out. `where` names the source in messages:
 * a JSON path prefix ("$", "$[3]": messages say "$[3].Age: ..."), or NULL for
 * a CSV cell ("column Age: ..."). Returns 0, or -1 with err. */
int schema_value(const schema_input *in, const raw_value *v, const char *where, double *out, char *err);

/* The same for a CSV cell's text (len 0 = missing): numbers are parsed, an
 * integer category "3.0" is class 3. */
int schema_text_value(const schema_input *in, const char *s, size_t len, double *out, char *err);

/* The index of a category's text in the vocabulary, or -1. */
int schema_vocab_find(const schema_input *in, const char *s, size_t len);
/* The index of a category given as JSON (a string, or an integer for integer
 * vocabularies), as model files write them; -1 when it is not one. */
int schema_category_of_json(const schema_input *in, const struct json_t *v);
const char *value_type_name(value_type t);

/* Reads $.inputs (format 2). Returns 0 or -1 with the reader's message. */
int schema_read(schema *s, reader *r, struct json_t *arr, const char *path);
/* Reads a vocabulary (strings or integers, by in->type) into in. */
int schema_read_vocab(reader *r, schema_input *in, struct json_t *arr, const char *path);
struct json_t *schema_to_json(const schema *s);
void schema_hash(const schema *s, fnv *f);
/* Frees what s owns and zeroes it. */
void schema_clear(schema *s);

/* Derives the lookup lengths (name_len, vocab_len), once the inputs are final.
 * Returns 0 or -1 (memory). */
int schema_index(schema *s);

/* The input named name (len bytes), or -1. */
int schema_find(const schema *s, const char *name, size_t len);

/* The input whose name is closest to name (a misspelling: edits counted with
 * case, spaces, '_', '-' and '.' ignored), or -1 when none is close. */
int schema_closest(const schema *s, const char *name, size_t len);

#endif
