# Columns of the mart_* views (schema public) that become QuickSight datasets. QuickSight needs the
# columns of a relational table declared up front; keep this list in step with the mart SQL.
locals {
  mart_columns = {
    mart_customer_credit_profile = [
      { name = "customer_key", type = "INTEGER" },
      { name = "customer_id", type = "STRING" },
      { name = "employment_status", type = "STRING" },
      { name = "annual_income", type = "DECIMAL" },
      { name = "total_inflow", type = "DECIMAL" },
      { name = "total_outflow", type = "DECIMAL" },
      { name = "salary_months", type = "INTEGER" },
      { name = "salary_regularity", type = "DECIMAL" },
      { name = "betting_share", type = "DECIMAL" },
      { name = "lowest_balance", type = "DECIMAL" },
      { name = "days_overdrawn", type = "INTEGER" },
      { name = "loan_to_income", type = "DECIMAL" },
    ]
    mart_loan_kpis_monthly = [
      { name = "year_month", type = "STRING" },
      { name = "applications", type = "INTEGER" },
      { name = "approved", type = "INTEGER" },
      { name = "approval_rate", type = "DECIMAL" },
      { name = "total_loan_amount", type = "DECIMAL" },
      { name = "avg_loan_amount", type = "DECIMAL" },
      { name = "avg_credit_score", type = "DECIMAL" },
    ]
    mart_income_by_employment = [
      { name = "employment_status", type = "STRING" },
      { name = "customers", type = "INTEGER" },
      { name = "avg_annual_income", type = "DECIMAL" },
      { name = "median_annual_income", type = "DECIMAL" },
    ]
    mart_approval_by_band_employment = [
      { name = "credit_band", type = "STRING" },
      { name = "employment_status", type = "STRING" },
      { name = "applications", type = "INTEGER" },
      { name = "approved", type = "INTEGER" },
      { name = "approval_rate", type = "DECIMAL" },
    ]
    mart_default_rate_by_band_employment = [
      { name = "credit_band", type = "STRING" },
      { name = "employment_status", type = "STRING" },
      { name = "loans", type = "INTEGER" },
      { name = "defaulted_loans", type = "INTEGER" },
      { name = "default_rate", type = "DECIMAL" },
    ]
    mart_spend_by_category_month = [
      { name = "year_month", type = "STRING" },
      { name = "category", type = "STRING" },
      { name = "transactions", type = "INTEGER" },
      { name = "total_spend", type = "DECIMAL" },
    ]
    mart_loans_by_state = [
      { name = "state", type = "STRING" },
      { name = "applications", type = "INTEGER" },
      { name = "total_loan_amount", type = "DECIMAL" },
      { name = "avg_loan_amount", type = "DECIMAL" },
    ]
    mart_data_quality = [
      { name = "source", type = "STRING" },
      { name = "files", type = "INTEGER" },
      { name = "rows_in", type = "INTEGER" },
      { name = "rows_loaded", type = "INTEGER" },
      { name = "rows_quarantined", type = "INTEGER" },
      { name = "quarantine_rate", type = "DECIMAL" },
    ]
    mart_loan_customer_360 = [
      { name = "application_id", type = "STRING" },
      { name = "customer_id", type = "STRING" },
      { name = "application_date", type = "DATETIME" },
      { name = "loan_amount", type = "DECIMAL" },
      { name = "credit_score", type = "INTEGER" },
      { name = "credit_band", type = "STRING" },
      { name = "employment_status", type = "STRING" },
      { name = "annual_income", type = "DECIMAL" },
      { name = "loan_to_income", type = "DECIMAL" },
      { name = "application_status", type = "STRING" },
      { name = "state", type = "STRING" },
      { name = "total_inflow", type = "DECIMAL" },
      { name = "total_outflow", type = "DECIMAL" },
      { name = "betting_share", type = "DECIMAL" },
      { name = "days_overdrawn", type = "INTEGER" },
    ]
  }
}
