"""Being found from outside: sitemaps, robots.txt, canonical URLs, structured data
(JSON-LD, OpenGraph, Twitter cards), Atom feeds, embeds and oEmbed.

Everything here reads the public catalog only and writes nothing. Absolute
URLs come from :func:`catalog.seo.site.site_root`: ``SITE_URL`` when the
operator set it, otherwise the origin the request came to.
"""
