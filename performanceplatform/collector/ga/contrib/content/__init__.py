"""GOV.UK content dashboards."""
