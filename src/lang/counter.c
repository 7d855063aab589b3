/* Placeholder until the counter kind lands. */
#include "lang_impl.h"

int sp_counter_load(sp_lang *lang, const sp_yaml_doc *doc, const sp_yaml_node *root, sp_error *err)
{
    (void)lang;
    return sp_yaml_error(err, doc, root, "kind counter is not available yet");
}
