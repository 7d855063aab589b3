/* Placeholder until the cfg kind lands. */
#include "lang_impl.h"

int sp_cfg_load(sp_lang *lang, const sp_yaml_doc *doc, const sp_yaml_node *root, sp_error *err)
{
    (void)lang;
    return sp_yaml_error(err, doc, root, "kind cfg is not available yet");
}
