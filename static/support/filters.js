'use strict';
// The support admin's list filters. Loaded after Django's admin/js/autocomplete.js, which turns the tenant
// filter's select into a select2 search box. Picking a tenant (or clearing it), or choosing a reason, applies it;
// without JavaScript each filter is a form with its own button.
{
    const $ = django.jQuery;
    $(function() {
        $('.tenant-filter select').each(function() {
            // select2 draws its own text box, which has no name of its own: give it the filter's.
            const rendered = document.getElementById('select2-' + this.id + '-container');
            if (rendered) {
                rendered.setAttribute('aria-label', 'Tenant');
            }
        }).on('select2:select select2:clear', function() {
            this.form.submit();
        });
        $('.select-filter select').on('change', function() {
            this.form.submit();
        });
        $('.select-filter button, .tenant-filter button').addClass('hidden');
    });
}
