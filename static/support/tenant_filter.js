'use strict';
// The tenant filter of the login events list: picking a tenant (or clearing it) in the autocomplete applies it.
// Loaded after Django's admin/js/autocomplete.js, which turns the select into a select2 search box.
{
    const $ = django.jQuery;
    $(function() {
        $('.tenant-filter select').on('select2:select select2:clear', function() {
            this.form.submit();
        });
    });
}
