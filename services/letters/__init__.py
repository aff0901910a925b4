"""Letters and notices to families (B1i, A1c, Appendix C, Appendix F, A12a, A15, B1j).

No Flask here: screens, commands and background jobs call these functions alike.

* `kinds`: which letter kinds exist and which family (``--kind decision``) each is in;
* `context`: the facts a letter may quote, built from the case and the year's dated
  parameters (templates never carry a figure of their own);
* `templates`: supervisors' wording per kind and year, in Jinja's sandbox, versioned;
* `render`: the PDF (A4, real text, title and language) and the e-mail body;
* `owed`: what the stored state says families are still owed, made idempotently;
* `sending`: e-mail through GOV.UK Notify (log-only without a key) and print batches.
"""
